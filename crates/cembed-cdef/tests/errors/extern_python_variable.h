extern "Python" int counter;
