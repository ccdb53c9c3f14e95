//! The words of C declarations: CFFI's primitive types (cffi/model.py
//! `PrimitiveType.ALL_PRIMITIVE_TYPES`), the normalisation of C's
//! multi-keyword spellings to CFFI's names, the keywords that cannot be
//! names and the compiler extensions CFFI rejects.

/// Primitive types spelled as one identifier (not a C keyword), with their
/// CFFI name. `bool` is CFFI's alias for `_Bool`.
pub const NAMED: &[(&str, &str)] = &[
    ("_Bool", "_Bool"),
    ("bool", "_Bool"),
    ("wchar_t", "wchar_t"),
    ("char16_t", "char16_t"),
    ("char32_t", "char32_t"),
    ("int8_t", "int8_t"),
    ("uint8_t", "uint8_t"),
    ("int16_t", "int16_t"),
    ("uint16_t", "uint16_t"),
    ("int32_t", "int32_t"),
    ("uint32_t", "uint32_t"),
    ("int64_t", "int64_t"),
    ("uint64_t", "uint64_t"),
    ("int_least8_t", "int_least8_t"),
    ("uint_least8_t", "uint_least8_t"),
    ("int_least16_t", "int_least16_t"),
    ("uint_least16_t", "uint_least16_t"),
    ("int_least32_t", "int_least32_t"),
    ("uint_least32_t", "uint_least32_t"),
    ("int_least64_t", "int_least64_t"),
    ("uint_least64_t", "uint_least64_t"),
    ("int_fast8_t", "int_fast8_t"),
    ("uint_fast8_t", "uint_fast8_t"),
    ("int_fast16_t", "int_fast16_t"),
    ("uint_fast16_t", "uint_fast16_t"),
    ("int_fast32_t", "int_fast32_t"),
    ("uint_fast32_t", "uint_fast32_t"),
    ("int_fast64_t", "int_fast64_t"),
    ("uint_fast64_t", "uint_fast64_t"),
    ("intptr_t", "intptr_t"),
    ("uintptr_t", "uintptr_t"),
    ("intmax_t", "intmax_t"),
    ("uintmax_t", "uintmax_t"),
    ("ptrdiff_t", "ptrdiff_t"),
    ("size_t", "size_t"),
    ("ssize_t", "ssize_t"),
    // CFFI's names of `float _Complex` / `double _Complex` (what
    // `ffi.typeof` shows, what its primitive table lists).
    ("_cffi_float_complex_t", "_cffi_float_complex_t"),
    ("_cffi_double_complex_t", "_cffi_double_complex_t"),
];

/// The CFFI name of a primitive spelled as a single identifier (`size_t`,
/// `bool`), if it is one. A user typedef of the same name takes precedence
/// (the parser checks that first), as in CFFI.
pub fn named_prim(ident: &str) -> Option<&'static str> {
    NAMED.iter().find(|(k, _)| *k == ident).map(|(_, v)| *v)
}

/// The C keywords that can make up a primitive type specifier.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kw {
    Void,
    Char,
    Short,
    Int,
    Long,
    Float,
    Double,
    Signed,
    Unsigned,
    Bool,
    /// `_Complex`: with `float` or `double` only, as in CFFI (its parser
    /// knows `float _Complex` and `double _Complex`, no `long double
    /// _Complex`).
    Complex,
}

impl Kw {
    pub fn from_ident(s: &str) -> Option<Kw> {
        Some(match s {
            "void" => Kw::Void,
            "char" => Kw::Char,
            "short" => Kw::Short,
            "int" => Kw::Int,
            "long" => Kw::Long,
            "float" => Kw::Float,
            "double" => Kw::Double,
            "signed" | "__signed" | "__signed__" => Kw::Signed,
            "unsigned" => Kw::Unsigned,
            "_Bool" => Kw::Bool,
            "_Complex" => Kw::Complex,
            _ => return None,
        })
    }
}

/// Counts of each keyword in one specifier list.
#[derive(Default, Debug, Clone, Copy)]
pub struct KwSet {
    pub void: u8,
    pub char: u8,
    pub short: u8,
    pub int: u8,
    pub long: u8,
    pub float: u8,
    pub double: u8,
    pub signed: u8,
    pub unsigned: u8,
    pub bool_: u8,
    pub complex: u8,
}

impl KwSet {
    pub fn add(&mut self, k: Kw) {
        let slot = match k {
            Kw::Void => &mut self.void,
            Kw::Char => &mut self.char,
            Kw::Short => &mut self.short,
            Kw::Int => &mut self.int,
            Kw::Long => &mut self.long,
            Kw::Float => &mut self.float,
            Kw::Double => &mut self.double,
            Kw::Signed => &mut self.signed,
            Kw::Unsigned => &mut self.unsigned,
            Kw::Bool => &mut self.bool_,
            Kw::Complex => &mut self.complex,
        };
        *slot = slot.saturating_add(1);
    }

    pub fn is_empty(&self) -> bool {
        self.void
            + self.char
            + self.short
            + self.int
            + self.long
            + self.float
            + self.double
            + self.signed
            + self.unsigned
            + self.bool_
            + self.complex
            == 0
    }

    /// The CFFI name of the combination (`short unsigned int` ->
    /// `"unsigned short"`), or `None` if it is not a valid C type.
    pub fn normalise(&self) -> Option<&'static str> {
        let s = *self;
        if s.signed + s.unsigned > 1 || s.complex > 1 {
            return None;
        }
        if s.complex == 1 {
            let rest = s.void + s.char + s.short + s.int + s.long + s.bool_ + s.signed + s.unsigned;
            return match (s.float, s.double, rest) {
                (1, 0, 0) => Some("_cffi_float_complex_t"),
                (0, 1, 0) => Some("_cffi_double_complex_t"),
                _ => None,
            };
        }
        let sign_ok = |allowed: bool| allowed || s.signed + s.unsigned == 0;
        let u = s.unsigned == 1;
        let only =
            |n: u8| s.void + s.char + s.short + s.int + s.long + s.float + s.double + s.bool_ == n;
        if s.void == 1 && only(1) && sign_ok(false) {
            return Some("void");
        }
        if s.bool_ == 1 && only(1) && sign_ok(false) {
            return Some("_Bool");
        }
        if s.float == 1 && only(1) && sign_ok(false) {
            return Some("float");
        }
        if s.double == 1 && sign_ok(false) {
            if only(1) {
                return Some("double");
            }
            if s.long == 1 && only(2) {
                return Some("long double");
            }
            return None;
        }
        if s.char == 1 && only(1) {
            return Some(match (s.signed, s.unsigned) {
                (1, _) => "signed char",
                (_, 1) => "unsigned char",
                _ => "char",
            });
        }
        // The integers: at most one `int`, and either one `short` or up to two
        // `long`s.
        if s.void + s.bool_ + s.float + s.double + s.char != 0 || s.int > 1 {
            return None;
        }
        match (s.short, s.long) {
            (0, 0) => Some(if u { "unsigned int" } else { "int" }),
            (1, 0) => Some(if u { "unsigned short" } else { "short" }),
            (0, 1) => Some(if u { "unsigned long" } else { "long" }),
            (0, 2) => Some(if u { "unsigned long long" } else { "long long" }),
            _ => None,
        }
    }
}

/// Identifiers CFFI removes before parsing on non-Windows platforms.
pub fn is_ignored_ident(s: &str) -> bool {
    matches!(s, "__cdecl" | "__stdcall" | "WINAPI")
}

/// C keywords that cannot be declarator names.
pub fn is_keyword(s: &str) -> bool {
    Kw::from_ident(s).is_some()
        || matches!(
            s,
            "struct"
                | "union"
                | "enum"
                | "const"
                | "volatile"
                | "restrict"
                | "__restrict"
                | "__restrict__"
                | "__const"
                | "typedef"
                | "static"
                | "extern"
                | "sizeof"
                | "inline"
                | "register"
                | "auto"
                | "return"
                | "if"
                | "else"
                | "while"
                | "for"
                | "do"
                | "switch"
                | "case"
                | "default"
                | "break"
                | "continue"
                | "goto"
        )
}

/// GCC/MSVC extensions CFFI does not accept.
pub fn is_unsupported_ext(s: &str) -> bool {
    matches!(
        s,
        "__attribute__"
            | "__attribute"
            | "__declspec"
            | "__asm__"
            | "__asm"
            | "asm"
            | "__typeof__"
            | "typeof"
            | "__typeof"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(words: &str) -> Option<&'static str> {
        let mut s = KwSet::default();
        for w in words.split_whitespace() {
            s.add(Kw::from_ident(w).unwrap());
        }
        s.normalise()
    }

    #[test]
    fn spellings() {
        assert_eq!(norm("unsigned"), Some("unsigned int"));
        assert_eq!(norm("signed"), Some("int"));
        assert_eq!(norm("long int"), Some("long"));
        assert_eq!(norm("short unsigned int"), Some("unsigned short"));
        assert_eq!(norm("int long long unsigned"), Some("unsigned long long"));
        assert_eq!(norm("signed char"), Some("signed char"));
        assert_eq!(norm("char unsigned"), Some("unsigned char"));
        assert_eq!(norm("char"), Some("char"));
        assert_eq!(norm("long double"), Some("long double"));
        assert_eq!(norm("_Bool"), Some("_Bool"));
        assert_eq!(norm("short long"), None);
        assert_eq!(norm("long long long"), None);
        assert_eq!(norm("unsigned double"), None);
        assert_eq!(norm("signed unsigned"), None);
        assert_eq!(norm("int int"), None);
        assert_eq!(norm("void int"), None);
        assert_eq!(norm("unsigned void"), None);
        assert_eq!(norm("short char"), None);
        assert_eq!(norm("float _Complex"), Some("_cffi_float_complex_t"));
        assert_eq!(norm("_Complex double"), Some("_cffi_double_complex_t"));
        assert_eq!(norm("long double _Complex"), None);
        assert_eq!(norm("int _Complex"), None);
        assert_eq!(norm("_Complex"), None);
    }
}

/// What a word means in a specifier list, for both parsers' specifier
/// loops (which differ in what they do with it: cdef takes storage classes
/// and struct bodies, the type-name parser refuses them).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SpecWord {
    /// `typedef`, `static`, `extern`.
    Storage,
    Const,
    Volatile,
    /// `restrict`: no effect on the type (also after a `*`).
    Restrict,
    /// `_Atomic`, `inline`: accepted and ignored, as CFFI does (in a
    /// specifier list only).
    Ignored,
    /// `struct`, `union`, `enum`.
    Tag,
    /// Ignored in a parameter, refused elsewhere.
    Register,
    /// A C keyword CFFI refuses.
    Unsupported,
    /// A compiler extension ([`is_unsupported_ext`]).
    Extension,
}

/// `None`: a type keyword ([`Kw`]) or any other identifier.
pub fn spec_word(s: &str) -> Option<SpecWord> {
    Some(match s {
        "typedef" | "static" | "extern" => SpecWord::Storage,
        "const" | "__const" | "__const__" => SpecWord::Const,
        "volatile" | "__volatile" | "__volatile__" => SpecWord::Volatile,
        "restrict" | "__restrict" | "__restrict__" => SpecWord::Restrict,
        "_Atomic" | "inline" | "__inline" | "__inline__" => SpecWord::Ignored,
        "struct" | "union" | "enum" => SpecWord::Tag,
        "register" => SpecWord::Register,
        "_Noreturn" | "auto" | "_Thread_local" | "__thread" | "_Alignas" | "__extension__"
        | "__complex__" | "_Imaginary" => SpecWord::Unsupported,
        _ if is_unsupported_ext(s) => SpecWord::Extension,
        _ => return None,
    })
}

/// The qualifiers a specifier list has seen.
#[derive(Copy, Clone, Default)]
pub struct Quals {
    pub is_const: bool,
    pub is_volatile: bool,
}

impl Quals {
    /// Takes `w` if a specifier list only notes or skips it (a qualifier,
    /// `_Atomic`, `inline`, `register` in a parameter): true if taken.
    pub fn take(&mut self, w: SpecWord, in_param: bool) -> bool {
        match w {
            SpecWord::Const => self.is_const = true,
            SpecWord::Volatile => self.is_volatile = true,
            SpecWord::Restrict | SpecWord::Ignored => {}
            SpecWord::Register if in_param => {}
            _ => return false,
        }
        true
    }
}
