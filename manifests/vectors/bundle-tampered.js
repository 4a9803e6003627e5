var on=!1;retInterval(function(){on=!on;digitalWrite(LED1,on)},500);
