let A
/b/zg.evoid