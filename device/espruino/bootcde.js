ota.pick();
