<!-- html comment
var y = 2; --> also
