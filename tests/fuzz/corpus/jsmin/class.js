class A { #p = 1; get q() { return this.#p; } static { } }
