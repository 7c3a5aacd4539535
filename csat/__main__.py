from csat.cli import main

main()
