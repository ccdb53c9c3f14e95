//! The library itself: `cembed_build_info`, the completed
//! `_cembed_lib` (static, or hidden when the loader is compiled apart), the `.cembed` ELF section and
//! `PyInit_<module>`.

use super::*;

impl<'p> Gen<'p> {
    pub(super) fn lib(&self, w: &mut SourceWriter, opts: &Options) {
        let b = opts.build;
        w.line("/* ---- the library ---- */");
        w.blank();
        w.inline_block(
            "static const cembed_build_info _cembed_build_info =",
            ";",
            |w| {
                w.line(format!(".python_version = {},", literal(&b.python_version)));
                w.line(format!(
                    ".python_executable = {},",
                    literal(&b.python_executable)
                ));
                w.line(format!(".libpython = {},", literal(&b.libpython)));
                w.line(format!(".runtime = {},", literal(&b.runtime)));
                w.line(format!(".cembed_version = {},", literal(&b.cembed_version)));
            },
        );
        w.blank();
        // The same facts as text in a section of their own, so tools read
        // them from the file without loading it: `cembed bundle` recognises
        // a cembed library by this section (cembed-build's bundle.rs).
        let info = format!(
            "cembed-library 1\nmodule={}\nabi={}.{}\npython_version={}\n\
             python_executable={}\nlibpython={}\nruntime={}\ncembed_version={}\n",
            opts.module_name,
            cembed_abi::ABI_VERSION,
            cembed_abi::ABI_MINOR,
            b.python_version,
            b.python_executable,
            b.libpython,
            b.runtime,
            b.cembed_version
        );
        w.line("#if defined(__ELF__) && defined(__GNUC__)");
        w.line(format!(
            "__attribute__((used, section(\".cembed\"))) static const char _cembed_info[] = {};",
            literal(&info)
        ));
        w.line("#endif");
        w.blank();
        let init = match opts.init_code {
            Some(code) => {
                w.line("/* embedding_init_code(), UTF-8 */");
                w.line("static const char _cembed_init_code[] =");
                let lits = multiline_literal(code);
                let last = lits.len() - 1;
                for (i, l) in lits.into_iter().enumerate() {
                    w.line(format!("    {l}{}", if i == last { ";" } else { "" }));
                }
                w.blank();
                "_cembed_init_code"
            }
            None => "NULL",
        };
        let p = self.p;
        let n_enum = self.enumerators.len();
        let n_typedefs = p
            .decls
            .iter()
            .filter(|d| matches!(d, Decl::Typedef { .. }))
            .count();
        let n_consts = p
            .decls
            .iter()
            .filter(|d| matches!(d, Decl::Macro { .. } | Decl::Constant { .. }))
            .count();
        let n_globals = p
            .decls
            .iter()
            .filter(|d| matches!(d, Decl::Global { .. }))
            .count();
        let n_cfuncs = p
            .functions()
            .filter(|(_, _, k)| *k == FuncKind::CFunction)
            .count();
        let n_externs = p
            .functions()
            .filter(|(_, _, k)| *k != FuncKind::CFunction)
            .count();
        let tables = [
            ("types", "_cembed_types", p.types.len()),
            ("fields", "_cembed_fields", self.field_rows.len()),
            ("params", "_cembed_params", self.params.len()),
            ("enumerators", "_cembed_enumerators", n_enum),
            ("typedefs", "_cembed_typedefs", n_typedefs),
            ("consts", "_cembed_consts", n_consts),
            ("globals", "_cembed_globals", n_globals),
            ("cfuncs", "_cembed_cfuncs", n_cfuncs),
            ("externs", "_cembed_externs", n_externs),
            ("thunks", "_cembed_thunks", self.thunks.len()),
        ];
        w.inline_block("CEMBED_LIB_STORAGE cembed_lib _cembed_lib =", ";", |w| {
            w.line(".abi_version = CEMBED_ABI_VERSION,");
            w.line(".struct_size = sizeof(cembed_lib),");
            w.line(format!(".module_name = {},", literal(opts.module_name)));
            w.line(format!(".init_code = {init},"));
            w.line(".build = &_cembed_build_info,");
            for (field, var, count) in tables {
                // C has no zero-length arrays: an empty table is NULL.
                let var = if count == 0 { "NULL" } else { var };
                w.line(format!(".{field} = {var}, .n_{field} = {count},"));
            }
            w.line(".runtime = NULL,");
            w.line(format!(
                ".isolation = {}, .pool_size = {},",
                match opts.isolation {
                    cembed_abi::Isolation::Shared => "CEMBED_ISOLATION_SHARED",
                    cembed_abi::Isolation::Isolated => "CEMBED_ISOLATION_ISOLATED",
                    cembed_abi::Isolation::Pool => "CEMBED_ISOLATION_POOL",
                },
                opts.pool_size
            ));
        });
        w.blank();
        let last = opts
            .module_name
            .rsplit('.')
            .next()
            .unwrap_or(opts.module_name);
        w.line("/* A running Python imports the library as the extension module it also is. */");
        w.block(
            &format!("CFFI_DLLEXPORT void *PyInit_{last}(void)"),
            "",
            |w| {
                w.line("return _cembed_pyinit();");
            },
        );
    }
}
