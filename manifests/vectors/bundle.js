var on=!1;setInterval(function(){on=!on;digitalWrite(LED1,on)},500);
