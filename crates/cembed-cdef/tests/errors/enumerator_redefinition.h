enum a { X };
enum b { Y, X };
