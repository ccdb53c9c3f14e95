//! Constant evaluation: integer constant expressions over literals,
//! enumerators and integer `#define`s declared earlier.

use super::*;

impl Resolver {
    /// Evaluates a constant integer expression. Names refer to enumerators and
    /// integer `#define`s declared earlier. `None`: the value depends on one
    /// only the compiler knows (declared with `...`).
    pub(super) fn eval(&self, e: &Expr) -> RResult<Option<i128>> {
        let overflow =
            |sp: Span| Diag::new("integer overflow in constant expression", sp, "overflows");
        Ok(Some(match e {
            Expr::Int(v, _) => *v,
            Expr::Name(id) => match self.ordinary.get(&id.name) {
                Some((OrdKind::Enumerator(Some(v)) | OrdKind::Macro(Some(v)), _)) => *v,
                Some((OrdKind::Enumerator(None) | OrdKind::Macro(None), _)) => return Ok(None),
                Some((other, prev)) => {
                    return Err(Diag::new(
                        format!("`{}` is not an integer constant", id.name),
                        id.span,
                        format!("this is a {}", other.what()),
                    )
                    .with_secondary(*prev, "declared here"))
                }
                None => {
                    return Err(Diag::new(
                        format!("unknown name `{}` in a constant expression", id.name),
                        id.span,
                        "not an enumerator or integer #define declared before",
                    ))
                }
            },
            Expr::Unary(op, x, sp) => {
                let Some(v) = self.eval(x)? else {
                    return Ok(None);
                };
                match op {
                    UnOp::Neg => v.checked_neg().ok_or_else(|| overflow(*sp))?,
                    UnOp::Plus => v,
                    UnOp::BitNot => !v,
                }
            }
            Expr::Binary(op, a, b, sp) => {
                let (Some(x), Some(y)) = (self.eval(a)?, self.eval(b)?) else {
                    return Ok(None);
                };
                let r = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div | BinOp::Rem if y == 0 => {
                        return Err(Diag::new("division by zero", *sp, "divides by zero"))
                    }
                    BinOp::Div => x.checked_div(y),
                    BinOp::Rem => x.checked_rem(y),
                    BinOp::Shl | BinOp::Shr if !(0..64).contains(&y) => {
                        return Err(Diag::new(
                            format!("shift by {y} bits is out of range"),
                            *sp,
                            "shift count must be 0..63",
                        ))
                    }
                    BinOp::Shl => x.checked_shl(y as u32),
                    BinOp::Shr => Some(x >> y),
                    BinOp::BitAnd => Some(x & y),
                    BinOp::BitOr => Some(x | y),
                    BinOp::BitXor => Some(x ^ y),
                };
                let v = r.ok_or_else(|| overflow(*sp))?;
                if v > u64::MAX as i128 || v < i64::MIN as i128 {
                    return Err(overflow(*sp));
                }
                v
            }
        }))
    }
}
