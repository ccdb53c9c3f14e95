void nothing;
