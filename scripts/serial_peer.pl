#!/usr/bin/env perl
# The far end of the emulated COM1 for tests that type into the guest.
# Listens on 127.0.0.1 (a free port, written to PORTFILE), accepts the
# emulator's connection, appends everything it receives to LOG, and each time
# a TRIGGER string appears in the output sends the matching PAYLOAD.
#
#   serial_peer.pl [--stdin] LOG PORTFILE [TRIGGER PAYLOAD]...
#
# --stdin: also pass everything read from standard input to COM1 (a person
# typing at the terminal, as QEMU's -serial stdio; run.sh --interactive).
# PAYLOAD may use \n and \r. Ends when the emulator closes the connection, or
# after 10 minutes.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;

my $stdin = @ARGV && $ARGV[0] eq '--stdin' ? shift @ARGV : '';
my ($logfile, $portfile, @pairs) = @ARGV;
die "usage: $0 LOG PORTFILE [TRIGGER PAYLOAD]...\n" unless defined $portfile && @pairs % 2 == 0;
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1,
                                ReuseAddr => 1, Proto => 'tcp') or die "listen: $!\n";
open(my $pf, '>', "$portfile.tmp") or die "$portfile: $!\n";
print $pf $srv->sockport, "\n";
close $pf;
rename "$portfile.tmp", $portfile;

alarm 600;
my $c = $srv->accept or die "accept: $!\n";
open(my $log, '>>', $logfile) or die "$logfile: $!\n";
$log->autoflush(1);
my $seen = '';
my $sel = IO::Select->new($c);
$sel->add(\*STDIN) if $stdin;
while (1) {
    my @ready = $sel->can_read;
    if (grep { $_ != $c } @ready) {
        my $k = sysread(STDIN, my $keys, 4096);
        if ($k) { syswrite($c, $keys); } else { $sel->remove(\*STDIN); }
        next unless grep { $_ == $c } @ready;
    }
    my $n = sysread($c, my $data, 4096);
    last unless $n;
    print $log $data;
    $seen .= $data;
    while (@pairs && index($seen, $pairs[0]) >= 0) {
        my ($trigger, $payload) = splice(@pairs, 0, 2);
        $seen = substr($seen, index($seen, $trigger) + length $trigger);
        $payload =~ s/\\n/\n/g;
        $payload =~ s/\\r/\r/g;
        syswrite($c, $payload);
    }
    $seen = substr($seen, -4096) if length $seen > 8192;
}
