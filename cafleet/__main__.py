from cafleet.cli import main

main()
