//! The GIL as a type: a [`Python`] token proves that the current thread
//! holds the GIL, for as long as its lifetime `'py`. Functions that need
//! the GIL, and nothing else a caller could get wrong, are safe functions
//! taking the token; the one unsafe step is making a token, done where the
//! GIL is known to be held (a function CPython calls, right after taking
//! the GIL). [`Borrowed`] is a borrowed object reference tied to a token,
//! beside the owned `Owned` (py/mod.rs).
//!
//! The token is zero-sized and `Copy`: passing it costs nothing (checked
//! below), and it is neither `Send` nor `Sync`, so it cannot leave its
//! thread.

use pyo3_ffi as ffi;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// Proof that this thread holds the GIL for `'py`.
#[derive(Clone, Copy)]
pub(crate) struct Python<'py>(PhantomData<(&'py (), *mut ())>);

// The token adds no code: it is a zero-sized value.
const _: () = assert!(std::mem::size_of::<Python<'static>>() == 0);

impl Python<'_> {
    /// A token for the GIL this thread holds.
    ///
    /// # Safety
    /// The current thread holds the GIL for as long as the token (and
    /// anything made from it) is used.
    #[inline(always)]
    pub(crate) unsafe fn assume_gil_acquired() -> Self {
        Python(PhantomData)
    }
}

/// A borrowed reference to a live Python object, valid while the GIL is
/// held (`'py`) and the owner of the reference keeps it (`'a`).
#[derive(Clone, Copy)]
pub(crate) struct Borrowed<'a, 'py> {
    ptr: NonNull<ffi::PyObject>,
    _life: PhantomData<(&'a ffi::PyObject, Python<'py>)>,
}

impl<'a, 'py> Borrowed<'a, 'py> {
    /// Borrows `p`; `None` if it is NULL.
    ///
    /// # Safety
    /// `p` is NULL or a live object that stays alive for `'a`.
    #[inline(always)]
    pub(crate) unsafe fn from_ptr(_py: Python<'py>, p: *mut ffi::PyObject) -> Option<Self> {
        NonNull::new(p).map(|ptr| Borrowed {
            ptr,
            _life: PhantomData,
        })
    }

    /// Borrows `p`, which is not NULL.
    ///
    /// # Safety
    /// `p` is a live object (not NULL) that stays alive for `'a`.
    #[inline(always)]
    pub(crate) unsafe fn from_ptr_non_null(_py: Python<'py>, p: *mut ffi::PyObject) -> Self {
        Borrowed {
            // SAFETY: `p` is not NULL (contract).
            ptr: unsafe { NonNull::new_unchecked(p) },
            _life: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn as_ptr(self) -> *mut ffi::PyObject {
        self.ptr.as_ptr()
    }
}
