var n=0;setInterval(function(){n+=2;print("tick "+n)},1000);print("hello, delta");
