int... x;
