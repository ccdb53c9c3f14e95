//// cdef
int fine(int);
//// embedding_api
int exported(int x
