#!/usr/bin/env bash
# Draws <results dir>/chart.png from <results dir>/chart.dat (written by
# bench/run.sh) with gnuplot (Debian package gnuplot-nox): one bar per
# server in each panel, so a person sees at a glance where each stands.
#   bench/chart.sh RESULTS_DIR
set -u
OUT=${1:?usage: chart.sh RESULTS_DIR}
[ -f "$OUT/chart.dat" ] || { echo "no $OUT/chart.dat" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "gnuplot not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
DAY=$(grep -m1 '^date_utc=' "$OUT/meta.txt" 2>/dev/null | cut -c10-19)
[ -n "$DAY" ] || DAY=$(date -u +%Y-%m-%d)
EIDLE=$(sed -n 's/^# echo_idle=//p' "$OUT/chart.dat")
EIDLE=${EIDLE:-0}
# bar(column, colour, label format)
bar() {
	echo "plot \"$OUT/chart.dat\" using $1:xtic(1) notitle lc rgb \"$2\", \"\" using 0:$1:(sprintf(\"$3\",\$$1)) with labels offset 0,0.7 notitle"
}
timeout 60 gnuplot <<EOF2 || exit 1
set terminal pngcairo size 1500,860 font ",10" noenhanced
set output "$OUT/chart.png"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set grid ytics
set yrange [0:*]
set xtics rotate by -20
set multiplot layout 2,3 title "roomcast vs peers, $DAY: server on core 0, load generator on core 1 (bench/run.sh)"
set title "fanout: 1000 subs, 1 pub, window 64\\ndeliveries/s x1000 (higher is better)"
$(bar 2 "#3070b0" "%.0f")
set logscale y
set yrange [*:*]
set title "fanout: p99 latency\\nms, log scale (lower is better)"
$(bar 3 "#3070b0" "%.0f")
set title "rate: 200 msg/s to 1000 subs\\np99 latency, ms, log scale (lower is better)"
$(bar 4 "#b05030" "%.1f")
unset logscale y
set yrange [0:*]
set title "idle: 19000 connections\\nserver RSS, KB per connection (lower is better)"
$(bar 5 "#40a040" "%.2f")
set title "connect: 1000 connections\\nconnections/s (higher is better)"
$(bar 6 "#806020" "%.0f")
set logscale y
set yrange [*:*]
set title "idlecho: echo of a 60 KB message with $EIDLE idle connections\\nms, log scale (lower is better)"
$(bar 7 "#a03080" "%.1f")
unset multiplot
EOF2
echo "chart: $OUT/chart.png" >&2
