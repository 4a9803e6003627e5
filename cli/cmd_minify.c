/* TEMPORARY: `otasign minify` arrives with the minifier (issue 4). */
#include <stdio.h>
#include "jsmin.h"
int cmd_minify(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "otasign minify: not built yet\n");
    return 1;
}
