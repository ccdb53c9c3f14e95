int value;
enum e { A };
A x;
