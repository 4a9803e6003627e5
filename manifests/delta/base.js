var n=0;setInterval(function(){n++;print("tick "+n)},1000);print("hello");
