ota=require("ota");ota.up();
