module effect-netpoll/bench/go

go 1.19
