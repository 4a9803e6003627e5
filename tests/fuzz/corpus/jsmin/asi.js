a
++b
return
x
