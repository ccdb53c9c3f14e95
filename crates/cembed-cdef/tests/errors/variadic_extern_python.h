extern "Python" int on_log(int level, ...);
