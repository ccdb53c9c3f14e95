//! Integer constant expressions (array lengths, enumerator values,
//! bitfield widths, `#define` values): the grammar is cembed-typename's
//! `grammar::ConstExpr`, shared with the run-time type-name parser; here
//! are the spanned nodes and the diagnostics it reports through.

use cembed_typename::grammar::ExprError;

use super::*;

impl<'a> ConstExpr<'a> for Parser<'a> {
    type Expr = Expr;
    type Error = Diag;

    fn enter(&mut self) -> PResult<()> {
        Parser::enter(self)
    }

    fn expected(&self, what: &str) -> Diag {
        Parser::expected(self, what)
    }

    fn expr_error(&self, e: ExprError, at: Token) -> Diag {
        let label = match &e {
            ExprError::TooLong => format!("more than {MAX_EXPR_OPS} operators in one expression"),
            ExprError::BadInt(_) => "not a valid integer literal".into(),
            ExprError::BadChar => "only single characters and simple escapes are supported".into(),
            ExprError::Sizeof => "use `...` to let the compiler supply the value".into(),
        };
        Diag::new(e.message(), self.span_of(at), label)
    }

    fn name(&mut self) -> PResult<Expr> {
        Ok(Expr::Name(self.ident()?))
    }

    fn int(&self, v: i128, t: Token) -> Expr {
        Expr::Int(v, self.span_of(t))
    }

    fn unary(&self, op: UnOp, e: Expr, start: u32) -> Expr {
        Expr::Unary(op, Box::new(e), self.span_from(start))
    }

    fn binary(&self, op: BinOp, lhs: Expr, rhs: Expr, start: u32) -> Expr {
        Expr::Binary(op, Box::new(lhs), Box::new(rhs), self.span_from(start))
    }
}
