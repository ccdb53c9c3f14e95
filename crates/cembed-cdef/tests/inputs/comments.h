/* Block comment
   over several lines */
int /* inline */ a /* between */ ; // trailing
// a line comment with "quotes" and 'quotes' and /* not a block
int b; /* block with // inside */ int c;
struct /* here */ s { int /**/ x; // field comment
};
#define WITH_COMMENT 5 /* comment after a define */
#define WITH_LINE_COMMENT 6 // line comment
/**/int d;/***/
