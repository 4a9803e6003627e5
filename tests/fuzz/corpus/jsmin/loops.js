for (var i = 0; i < 10; i++) if (i % 2) continue; else break;
label: while (1) { break label; }
