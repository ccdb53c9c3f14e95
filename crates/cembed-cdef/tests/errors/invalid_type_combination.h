unsigned double d;
