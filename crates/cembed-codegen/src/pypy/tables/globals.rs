//! The globals table of the PyPy target: one row per constant, global
//! variable, C function and function implemented in Python, and the C
//! function each row points to (a child of `tables` so it shares the
//! builder's private state).

use cembed_model::{Decl, FuncKind, MacroValue, PrimClass, Type, TypeId};

use super::{Global, Tables};
use crate::cstr;

impl Tables<'_> {
    pub(super) fn is_integer(&self, id: TypeId) -> bool {
        match self.p.ty(id) {
            Type::Prim(p) => matches!(
                p.class,
                PrimClass::SignedInt
                    | PrimClass::UnsignedInt
                    | PrimClass::UnknownInt
                    | PrimClass::Bool
            ),
            Type::Enum(_) => true,
            _ => false,
        }
    }

    pub(super) fn int_const_fn(&mut self, fname: &str, expr: &str, check: Option<i128>) {
        let w = &mut self.body;
        w.line(format!("static int {fname}(unsigned long long *o)"));
        w.line("{");
        w.line(format!("    int n = ({expr}) <= 0;"));
        w.line(format!(
            "    *o = (unsigned long long)(({expr}) | 0);  /* {expr} must be an integer */"
        ));
        if let Some(v) = check {
            let lit = if v < 0 {
                format!("(unsigned long long)({v}LL)")
            } else {
                format!("{v}ULL")
            };
            w.line(format!(
                "    if (!cembed_pypy_check_int(*o, n, {lit}, {}))",
                u8::from(v <= 0)
            ));
            w.line("        n |= 2;");
        }
        w.line("    return n;");
        w.line("}");
        w.blank();
    }

    /// Rows of `globals` and the functions they point to.
    pub(super) fn globals(&mut self) -> Vec<Global> {
        let mut rows = Vec::new();
        let p = self.p;
        for (e, def) in p.enums.iter().enumerate() {
            let _ = e;
            for en in &def.enumerators {
                let f = format!("_cembed_enum__{}", en.name);
                self.int_const_fn(&f, &en.name, None);
                rows.push(Global {
                    name: en.name.clone(),
                    address: format!("(void *){f}"),
                    op: "CEMBED_PYPY_OP(CEMBED_PYPY_OP_ENUM, -1)".into(),
                    direct: "(void *)0".into(),
                });
            }
        }
        for d in &p.decls {
            match d {
                Decl::Macro { name, value, .. } => {
                    let f = format!("_cembed_const__{name}");
                    let check = match value {
                        MacroValue::Int(v) => Some(*v),
                        MacroValue::FromCompiler => None,
                    };
                    self.int_const_fn(&f, name, check);
                    rows.push(Global {
                        name: name.clone(),
                        address: format!("(void *){f}"),
                        op: "CEMBED_PYPY_OP(CEMBED_PYPY_OP_CONSTANT_INT, -1)".into(),
                        direct: "(void *)0".into(),
                    });
                }
                Decl::Constant { name, ty, .. } => {
                    let f = format!("_cembed_const__{name}");
                    if self.is_integer(*ty) {
                        self.int_const_fn(&f, name, None);
                        rows.push(Global {
                            name: name.clone(),
                            address: format!("(void *){f}"),
                            op: "CEMBED_PYPY_OP(CEMBED_PYPY_OP_CONSTANT_INT, -1)".into(),
                            direct: "(void *)0".into(),
                        });
                    } else {
                        // A macro may stand for the constant: no `&name`.
                        let copy = match self.p.ty(*ty) {
                            Type::Array { .. } => format!("memcpy(o, {name}, sizeof({name}));"),
                            _ => format!(
                                "{} = ({name}); memcpy(o, &v, sizeof v);",
                                self.n.decl(*ty, "v")
                            ),
                        };
                        let w = &mut self.body;
                        w.line(format!("static void {f}(char *o)"));
                        w.line("{");
                        w.line(format!("    {copy}"));
                        w.line("}");
                        w.blank();
                        rows.push(Global {
                            name: name.clone(),
                            address: format!("(void *){f}"),
                            op: format!(
                                "CEMBED_PYPY_OP(CEMBED_PYPY_OP_CONSTANT, {})",
                                self.slot(*ty)
                            ),
                            direct: "(void *)0".into(),
                        });
                    }
                }
                Decl::Global { name, ty, .. } => {
                    let f = format!("_cembed_var__{name}");
                    let w = &mut self.body;
                    w.line(format!("static void *{f}(void)"));
                    w.line("{");
                    w.line(format!("    return (void *)&({name});"));
                    w.line("}");
                    w.blank();
                    rows.push(Global {
                        name: name.clone(),
                        address: format!("(void *){f}"),
                        op: format!(
                            "CEMBED_PYPY_OP(CEMBED_PYPY_OP_GLOBAL_VAR_F, {})",
                            self.slot(*ty)
                        ),
                        direct: "(void *)0".into(),
                    });
                }
                Decl::Function { name, ty, kind, .. } => match kind {
                    FuncKind::CFunction => self.c_function(name, *ty, &mut rows),
                    FuncKind::Exported | FuncKind::ExternPython | FuncKind::ExternPythonPlusC => {
                        self.python_function(name, *ty, *kind, &mut rows)
                    }
                },
                Decl::Typedef { .. } | Decl::Record { .. } | Decl::Enum { .. } => {}
            }
        }
        rows
    }

    pub(super) fn fn_parts(&self, ty: TypeId) -> (TypeId, Vec<TypeId>, bool) {
        match self.p.ty(ty) {
            Type::Function {
                result,
                params,
                variadic,
            } => (*result, params.clone(), *variadic),
            _ => unreachable!("a function declaration has a function type"),
        }
    }

    pub(super) fn is_void(&self, id: TypeId) -> bool {
        matches!(self.p.ty(id), Type::Prim(p) if p.class == PrimClass::Void)
    }

    /// Passed by address in PyPy's direct calls of C functions (a long
    /// double is passed by value there; only the args buffer of functions
    /// implemented in Python takes it by address).
    pub(super) fn indirect(&self, id: TypeId) -> bool {
        match self.p.ty(id) {
            Type::Record(_) => true,
            Type::Prim(p) => p.class == PrimClass::Complex,
            _ => false,
        }
    }

    /// A plain C function callable from Python as `lib.name(...)`.
    pub(super) fn c_function(&mut self, name: &str, ty: TypeId, rows: &mut Vec<Global>) {
        let (result, params, variadic) = self.fn_parts(ty);
        let n = self.n;
        if variadic {
            // No direct call for a variadic function: PyPy gets the pointer.
            let f = format!("_cembed_const__{name}");
            let slot = self.ptr_slot(ty);
            let decl = n.pointer_decl(ty, "fp");
            let w = &mut self.body;
            w.line(format!("static void {f}(char *o)"));
            w.line("{");
            w.line(format!("    {decl} = {name};"));
            w.line("    memcpy(o, &fp, sizeof fp);");
            w.line("}");
            w.blank();
            rows.push(Global {
                name: name.to_string(),
                address: format!("(void *){f}"),
                op: format!("CEMBED_PYPY_OP(CEMBED_PYPY_OP_CONSTANT, {slot})"),
                direct: "(void *)0".into(),
            });
            return;
        }
        let d = format!("_cembed_d__{name}");
        let args: Vec<String> = params
            .iter()
            .enumerate()
            .map(|(i, t)| n.param_decl(*t, &format!("x{i}")))
            .collect();
        let call: Vec<String> = (0..params.len()).map(|i| format!("x{i}")).collect();
        let ret = if self.is_void(result) { "" } else { "return " };
        let head = n.wrap_str(
            result,
            format!(
                "{d}({})",
                if args.is_empty() {
                    "void".to_string()
                } else {
                    args.join(", ")
                }
            ),
        );
        {
            let w = &mut self.body;
            w.line(format!("static {head}"));
            w.line("{");
            w.line(format!("    {ret}{name}({});", call.join(", ")));
            w.line("}");
        }
        // PyPy calls with structs (and long double) by address.
        let needs = self.indirect(result) || params.iter().any(|t| self.indirect(*t));
        let f = if needs {
            let f = format!("_cembed_f__{name}");
            let mut fargs = Vec::new();
            let mut fcall = Vec::new();
            if self.indirect(result) {
                fargs.push(n.pointer_decl(result, "result"));
            }
            for (i, t) in params.iter().enumerate() {
                if self.indirect(*t) {
                    fargs.push(n.pointer_decl(*t, &format!("x{i}")));
                    fcall.push(format!("*x{i}"));
                } else {
                    fargs.push(n.param_decl(*t, &format!("x{i}")));
                    fcall.push(format!("x{i}"));
                }
            }
            let fargs = if fargs.is_empty() {
                "void".to_string()
            } else {
                fargs.join(", ")
            };
            let result_indirect = self.indirect(result);
            let w = &mut self.body;
            if result_indirect {
                w.line(format!("static void {f}({fargs})"));
                w.line("{");
                w.line(format!("    *result = {name}({});", fcall.join(", ")));
            } else {
                w.line(format!(
                    "static {}",
                    n.wrap_str(result, format!("{f}({fargs})"))
                ));
                w.line("{");
                w.line(format!("    {ret}{name}({});", fcall.join(", ")));
            }
            w.line("}");
            f
        } else {
            d.clone()
        };
        self.body.blank();
        let kind = match params.len() {
            0 => "CEMBED_PYPY_OP_BUILTIN_N",
            1 => "CEMBED_PYPY_OP_BUILTIN_O",
            _ => "CEMBED_PYPY_OP_BUILTIN_V",
        };
        rows.push(Global {
            name: name.to_string(),
            address: format!("(void *){f}"),
            op: format!("CEMBED_PYPY_OP({kind}, {})", self.slot(ty)),
            direct: format!("(void *){d}"),
        });
    }

    /// A function implemented in Python: `embedding_api()` (exported),
    /// `extern "Python"` (static) or `extern "Python+C"`.
    pub(super) fn python_function(
        &mut self,
        name: &str,
        ty: TypeId,
        kind: FuncKind,
        rows: &mut Vec<Global>,
    ) {
        let (result, params, variadic) = self.fn_parts(ty);
        let n = self.n;
        let slot = self.ptr_slot(ty);
        let ext = format!("_cembed_externpy__{name}");
        let w = &mut self.body;
        if variadic {
            w.line(format!(
                "#error \"cembed: {name}() is variadic: a function implemented in Python cannot take '...'\""
            ));
            return;
        }
        // PyPy's backend reads argument i at offset 8 * i of the buffer: a
        // 16-byte double _Complex fits only as the last argument (where
        // CFFI's generated code lets the next argument overwrite its
        // imaginary part, this is refused at build time).
        let last = params.len().saturating_sub(1);
        for (i, t) in params.iter().enumerate() {
            if i != last
                && matches!(self.p.ty(*t), Type::Prim(p) if p.name == "_cffi_double_complex_t")
            {
                w.line(format!(
                    "#error \"cembed: {name}(): on PyPy a double _Complex argument of a function implemented in Python must be the last one (PyPy's _cffi_backend gives each argument 8 bytes)\""
                ));
                return;
            }
        }
        let void = matches!(self.p.ty(result), Type::Prim(p) if p.class == PrimClass::Void);
        let size_of_result = if void {
            "0".to_string()
        } else {
            format!("sizeof({})", n.ty(result))
        };
        w.line(format!(
            "static struct cembed_pypy_externpy {ext} = {{ {}, {size_of_result}, 0, 0 }};",
            cstr::literal(&format!("{}.{name}", self.module))
        ));
        w.line(format!("/* {} */", self.p.c_decl(ty, name)));
        let storage = match kind {
            FuncKind::Exported => "CFFI_DLLEXPORT ",
            FuncKind::ExternPython => "static ",
            _ => "",
        };
        let args: Vec<String> = params
            .iter()
            .enumerate()
            .map(|(i, t)| n.param_decl(*t, &format!("a{i}")))
            .collect();
        let args = if args.is_empty() {
            "void".to_string()
        } else {
            args.join(", ")
        };
        w.line(format!(
            "{storage}{}",
            n.wrap_str(result, format!("{name}({args})"))
        ));
        w.line("{");
        let mut size = (params.len() * 8).max(8).to_string();
        let result_indirect = matches!(self.p.ty(result), Type::Record(_));
        // A long double or a double _Complex result takes 16 bytes of the
        // buffer whatever the number of arguments.
        let wide = |t: &Type| matches!(t, Type::Prim(p) if p.name == "long double" || p.class == PrimClass::Complex);
        if wide(self.p.ty(result)) {
            size = (params.len() * 8).max(16).to_string();
        }
        if result_indirect {
            let t = n.ty(result);
            size = format!("sizeof({t}) > {size} ? sizeof({t}) : {size}");
        }
        if params.last().is_some_and(
            |t| matches!(self.p.ty(*t), Type::Prim(p) if p.name == "_cffi_double_complex_t"),
        ) {
            size = format!("{}", (params.len() * 8 + 8).max(16));
            if result_indirect {
                let t = n.ty(result);
                size = format!("sizeof({t}) > {size} ? sizeof({t}) : {size}");
            }
        }
        w.line(format!("    char a[{size}] __attribute__((aligned(16)));"));
        for (i, t) in params.iter().enumerate() {
            let by_address = matches!(self.p.ty(*t), Type::Record(_))
                || matches!(self.p.ty(*t), Type::Prim(p) if p.name == "long double");
            if by_address {
                w.line(format!(
                    "    {{ void *ptr = &a{i}; memcpy(a + {}, &ptr, sizeof ptr); }}",
                    i * 8
                ));
            } else {
                w.line(format!("    memcpy(a + {}, &a{i}, sizeof a{i});", i * 8));
            }
        }
        w.line(format!(
            "    __atomic_load_n(&_cembed_pypy_call, __ATOMIC_ACQUIRE)(&{ext}, a);"
        ));
        if !void {
            w.line(format!("    {};", n.decl(result, "r")));
            w.line("    memcpy(&r, a, sizeof r);");
            w.line("    return r;");
        }
        w.line("}");
        w.blank();
        rows.push(Global {
            name: name.to_string(),
            address: format!("(void *)&{ext}"),
            op: format!("CEMBED_PYPY_OP(CEMBED_PYPY_OP_EXTERN_PYTHON, {slot})"),
            direct: format!("(void *){name}"),
        });
    }
}
