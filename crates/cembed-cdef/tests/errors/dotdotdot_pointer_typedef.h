typedef ... *handle_t;
