//! Integer constant expressions (array lengths, enumerator values,
//! bitfield widths, `#define` values).

use super::*;

impl<'a> Parser<'a> {
    pub(crate) fn expr(&mut self) -> PResult<Expr> {
        // A parenthesised sub-expression shares its enclosing one's budget.
        let outermost = self.expr_budget.is_none();
        if outermost {
            self.expr_budget = Some(MAX_EXPR_OPS);
        }
        let r = self.binary(0);
        if outermost {
            self.expr_budget = None;
        }
        r
    }

    pub(super) fn binop(&self) -> Option<(BinOp, u8)> {
        let t = self.tok();
        if t.kind != TokKind::Punct {
            return None;
        }
        Some(match self.text_of(t) {
            "|" => (BinOp::BitOr, 1),
            "^" => (BinOp::BitXor, 2),
            "&" => (BinOp::BitAnd, 3),
            "<<" => (BinOp::Shl, 4),
            ">>" => (BinOp::Shr, 4),
            "+" => (BinOp::Add, 5),
            "-" => (BinOp::Sub, 5),
            "*" => (BinOp::Mul, 6),
            "/" => (BinOp::Div, 6),
            "%" => (BinOp::Rem, 6),
            _ => return None,
        })
    }

    pub(super) fn binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let start = self.tok().start;
        let mut lhs = self.unary()?;
        while let Some((op, prec)) = self.binop() {
            if prec < min_prec {
                break;
            }
            match &mut self.expr_budget {
                Some(0) => {
                    return Err(self.err_here(
                        "constant expression too long",
                        format!("more than {MAX_EXPR_OPS} operators in one expression"),
                    ))
                }
                Some(n) => *n -= 1,
                None => {}
            }
            self.bump();
            let rhs = self.binary(prec + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs), self.span_from(start));
        }
        Ok(lhs)
    }

    pub(super) fn unary(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.unary_inner();
        self.depth -= 1;
        r
    }

    pub(super) fn unary_inner(&mut self) -> PResult<Expr> {
        let t = self.tok();
        let start = t.start;
        match t.kind {
            TokKind::Punct => {
                let op = match self.text_of(t) {
                    "-" => UnOp::Neg,
                    "+" => UnOp::Plus,
                    "~" => UnOp::BitNot,
                    "(" => {
                        self.bump();
                        let e = self.expr()?;
                        self.expect_punct(")")?;
                        return Ok(e);
                    }
                    _ => return Err(self.expected("an integer constant expression")),
                };
                self.bump();
                let e = self.unary()?;
                Ok(Expr::Unary(op, Box::new(e), self.span_from(start)))
            }
            TokKind::Number => {
                self.bump();
                Ok(Expr::Int(self.int_value(t)? as i128, self.span_of(t)))
            }
            TokKind::Char => {
                self.bump();
                let v = char_literal_value(self.text_of(t)).ok_or_else(|| {
                    Diag::new(
                        "unsupported character literal",
                        self.span_of(t),
                        "only single characters and simple escapes are supported",
                    )
                })?;
                Ok(Expr::Int(v, self.span_of(t)))
            }
            TokKind::Ident if self.cur_text() == "sizeof" => Err(self.err_here(
                "`sizeof` is not supported in cdef() constant expressions",
                "use `...` to let the compiler supply the value",
            )),
            TokKind::Ident => Ok(Expr::Name(self.ident()?)),
            _ => Err(self.expected("an integer constant expression")),
        }
    }
}
