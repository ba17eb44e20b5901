# Fan-out delay distribution (bench/run.sh): gnuplot -e "data='…'; out='…'" bench/fanout.gp
# `data`: percentile, then one column per series (service/floor × client count), header first.
set terminal pngcairo size 960,600 font "sans,10"
set output out
set title "/events fan-out at 1,000 events/s: delay from emission to receipt at each client\nasterisk-api (solid) vs. a trivial broadcaster feeding the same client sockets (dashed)"
set xlabel "delay (ms, log scale)"
set ylabel "percentile of (event, client) deliveries"
set logscale x
set yrange [0:100]
set ytics 10
set grid
set key bottom right
set key autotitle columnhead top left
plot for [i=2:*:2] data using i:1 with lines lw 2 lc (i/2) dt 1 title columnhead(i), \
     for [i=3:*:2] data using i:1 with lines lw 2 lc (i/2) dt 2 title columnhead(i)
