from os import PathLike
from typing import Any, ClassVar, Iterable, Literal, Optional, Sequence, Tuple, Type, Union

__version__: str

class FFIError(Exception): ...
class CDefError(Exception): ...
class VerificationError(Exception): ...
class VerificationMissing(Exception): ...
class PkgConfigError(Exception): ...
class BundleError(Exception): ...

def bundle(
    library: Union[str, PathLike[str]],
    output_dir: Union[str, PathLike[str]],
    python: bool = ...,
    build_python: Optional[Union[str, PathLike[str]]] = ...,
    strip: bool = ...,
    trim: bool = ...,
    compile: bool = ...,
    add: Sequence[Union[str, PathLike[str]]] = ...,
    exclude: Sequence[str] = ...,
    verbose: bool = ...,
) -> str: ...

_Path = Union[str, "PathLike[str]"]

class FFI:
    error: ClassVar[Type[FFIError]]
    def __init__(self, backend: Any = ...) -> None: ...
    def cdef(
        self, csource: str, override: bool = ..., packed: bool = ..., pack: Optional[int] = ...
    ) -> None: ...
    def embedding_api(self, csource: str, packed: bool = ..., pack: Optional[int] = ...) -> None: ...
    def include(self, ffi_to_include: "FFI") -> None: ...
    def set_source(
        self,
        module_name: str,
        source: str,
        source_extension: str = ...,
        *,
        include_dirs: Sequence[_Path] = ...,
        library_dirs: Sequence[_Path] = ...,
        libraries: Sequence[str] = ...,
        define_macros: Sequence[Tuple[str, Optional[str]]] = ...,
        undef_macros: Sequence[str] = ...,
        extra_compile_args: Sequence[str] = ...,
        extra_link_args: Sequence[str] = ...,
        sources: Sequence[_Path] = ...,
        runtime_library_dirs: Sequence[_Path] = ...,
        extra_objects: Sequence[_Path] = ...,
        depends: Iterable[str] = ...,
        language: Optional[str] = ...,
        py_limited_api: bool = ...,
        optional: bool = ...,
    ) -> None: ...
    def embedding_isolation(
        self, mode: Literal["shared", "isolated", "pool"], size: Optional[int] = ...
    ) -> None: ...
    def embedding_init_code(self, pysource: str) -> None: ...
    def compile(
        self,
        tmpdir: _Path = ...,
        verbose: bool = ...,
        target: Optional[str] = ...,
        debug: Optional[bool] = ...,
        header: Optional[_Path] = ...,
    ) -> str: ...
    def emit_c_code(self, filename: _Path, header: Optional[_Path] = ...) -> None: ...
