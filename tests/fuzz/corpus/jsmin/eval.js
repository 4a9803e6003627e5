(function(){ eval("x"); var keep = 1; })();
