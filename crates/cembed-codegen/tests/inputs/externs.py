from externs import ffi, lib

@ffi.def_extern()
def on_progress(done, total):
    return done * 100 // total
