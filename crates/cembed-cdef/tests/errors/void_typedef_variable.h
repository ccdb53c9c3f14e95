typedef void v;
v nothing;
