enum mode { M_A, M_B };
enum mode { M_A, M_B = 4 };
