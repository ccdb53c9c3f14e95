//// cdef
extern "Python" int on_event(int);
//// embedding_api
int on_event(int);
