/* fakepy_fwd.c: empty body of the forwarding python3.dll (see the .def). */
int fakepy_fwd_unused;
