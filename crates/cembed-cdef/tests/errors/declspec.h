int __declspec(dllimport) f(int);
