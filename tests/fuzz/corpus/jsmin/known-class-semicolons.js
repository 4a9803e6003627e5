class A { #p = 1;; } {tati
 { } }
