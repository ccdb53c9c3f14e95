enum e { A = ..., B = A + 1 };
