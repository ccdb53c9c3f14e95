int counter;
long counter;
