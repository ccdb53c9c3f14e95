//! The conversion class of CFFI's primitive types (their names and C's
//! multi-keyword spellings are in cembed-typename's `words`).

use cembed_model::PrimClass;

/// The conversion class of a CFFI primitive name.
pub fn prim_class(name: &str) -> PrimClass {
    match name {
        "void" => PrimClass::Void,
        "char" => PrimClass::Char,
        "_Bool" => PrimClass::Bool,
        "wchar_t" | "char16_t" | "char32_t" => PrimClass::WideChar,
        "float" | "double" | "long double" => PrimClass::Float,
        "_cffi_float_complex_t" | "_cffi_double_complex_t" => PrimClass::Complex,
        "unsigned char" | "unsigned short" | "unsigned int" | "unsigned long"
        | "unsigned long long" | "size_t" | "uintptr_t" | "uintmax_t" => PrimClass::UnsignedInt,
        n if n.starts_with("uint") => PrimClass::UnsignedInt,
        _ => PrimClass::SignedInt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(prim_class("uint8_t"), PrimClass::UnsignedInt);
        assert_eq!(prim_class("uint_fast16_t"), PrimClass::UnsignedInt);
        assert_eq!(prim_class("ssize_t"), PrimClass::SignedInt);
        assert_eq!(prim_class("char"), PrimClass::Char);
        assert_eq!(prim_class("wchar_t"), PrimClass::WideChar);
        assert_eq!(prim_class("long double"), PrimClass::Float);
        assert_eq!(prim_class("unsigned long long"), PrimClass::UnsignedInt);
    }
}
