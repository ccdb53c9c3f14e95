//// embedding_api
int log_message(const char *fmt, ...);
