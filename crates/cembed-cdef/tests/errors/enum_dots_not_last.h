enum e { A, ..., B };
