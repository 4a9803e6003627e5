function g(){ var longName = 1; var other = longName * 2; return other; }
