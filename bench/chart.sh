#!/usr/bin/env bash
# Draws <results dir>/chart.png from <results dir>/chart.dat (written by
# bench/run.sh) with gnuplot (Debian package gnuplot-nox).
#   bench/chart.sh RESULTS_DIR
set -u
OUT=${1:?usage: chart.sh RESULTS_DIR}
[ -f "$OUT/chart.dat" ] || { echo "no $OUT/chart.dat" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "gnuplot not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
DAY=$(grep -m1 '^date_utc=' "$OUT/meta.txt" 2>/dev/null | cut -c10-19)
[ -n "$DAY" ] || DAY=$(date -u +%Y-%m-%d)
timeout 60 gnuplot <<EOF || exit 1
set terminal pngcairo size 1260,460 font ",10" noenhanced
set output "$OUT/chart.png"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set grid ytics
set yrange [0:*]
set multiplot layout 1,3 title "roomcast vs peers, $DAY: server on core 0, load generator on core 1"
set title "fanout: 1000 subs, 1 pub, window 64\\ndeliveries/s x1000 (higher is better)"
plot "$OUT/chart.dat" using 2:xtic(1) notitle lc rgb "#3070b0", "" using 0:2:(sprintf("%.0f",\$2)) with labels offset 0,0.7 notitle
set title "rate: 200 msg/s to 1000 subs\\np99 latency, ms (lower is better)"
plot "$OUT/chart.dat" using 3:xtic(1) notitle lc rgb "#b05030", "" using 0:3:(sprintf("%.0f",\$3)) with labels offset 0,0.7 notitle
set title "idle: 19000 connections\\nserver RSS, KB per connection (lower is better)"
plot "$OUT/chart.dat" using 4:xtic(1) notitle lc rgb "#40a040", "" using 0:4:(sprintf("%.1f",\$4)) with labels offset 0,0.7 notitle
unset multiplot
EOF
echo "chart: $OUT/chart.png" >&2
