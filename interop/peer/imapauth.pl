#!/usr/bin/perl
# usage: imapauth.pl PORT MECH USER PASSWORD [REALM]
# Authenticates over IMAP with Authen::SASL's Cyrus binding (libsasl2), as
# a Perl application would: the credentials are callbacks (REALM from a
# realm callback). Prints the mechanism and the server's final line; exits
# 0 on "a OK", 1 on "a NO", 2 on a client-side failure.
use strict;
use warnings;
use IO::Socket::INET;
use MIME::Base64;
use Authen::SASL qw(Cyrus);

my ($port, $mechs, $user, $pass, $realm) = @ARGV;
# (The binding reports the mechanism it was given, not the one chosen from
# a list, so one mechanism is named.)
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 15)
    or do { print "connect: $!\n"; exit 2 };
$sock->autoflush(1);
my $greeting = <$sock>;
my %cb = (user => $user, authname => $user, pass => $pass);
$cb{realm} = sub { $realm } if defined $realm;
my $sasl = Authen::SASL->new(mechanism => $mechs, callback => \%cb);
my $conn = $sasl->client_new('imap', '127.0.0.1');
my $out = $conn->client_start();
if ($conn->code < 0) { print "client_start: ", ($conn->error // ''), "\n"; exit 2 }
my $mech = $conn->mechanism;
print "mechanism: $mech\n";
my $cmd = "a AUTHENTICATE $mech";
$cmd .= ' ' . (length $out ? encode_base64($out, '') : '=') if defined $out && $conn->code >= 0 && length($out // '');
print $sock "$cmd\r\n";
while (my $line = <$sock>) {
    $line =~ s/\r?\n$//;
    if ($line =~ /^\+ ?(.*)$/) {
        my $reply = $conn->client_step(decode_base64($1));
        if ($conn->code < 0) {
            print "client_step: ", ($conn->error // ''), "\n";
            print $sock "*\r\n";
            next;
        }
        print $sock encode_base64($reply // '', ''), "\r\n";
    } elsif ($line =~ /^a (OK|NO|BAD)/) {
        print "server: $line\n";
        print $sock "b LOGOUT\r\n";
        exit($1 eq 'OK' ? 0 : 1);
    }
}
print "connection closed\n";
exit 2;
