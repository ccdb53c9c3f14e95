_Atomic int x;
