x = a
/b/g.exec(c)
